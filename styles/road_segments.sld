<?xml version="1.0" encoding="UTF-8"?>
<sld:StyledLayerDescriptor xmlns:ogc="http://www.opengis.net/ogc" xmlns:se="http://www.opengis.net/se" xmlns:sld="http://www.opengis.net/sld" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">
 <sld:NamedLayer>
  <se:Name>road_segments</se:Name>
  <sld:UserStyle>
   <se:Name>road_segments</se:Name>
   <se:Description>
    <se:Title>Road segments</se:Title>
   </se:Description>
   <se:FeatureTypeStyle>
    <se:Rule>
     <se:Name>motorway</se:Name>
     <se:Description>
      <se:Title>motorway</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>motorway</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#e8467c</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.5</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>trunk</se:Name>
     <se:Description>
      <se:Title>trunk</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>trunk</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#f07f3c</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.5</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>primary</se:Name>
     <se:Description>
      <se:Title>primary</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>primary</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#f4a73b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.5</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>secondary</se:Name>
     <se:Description>
      <se:Title>secondary</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>secondary</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#e6c84f</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.5</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>tertiary</se:Name>
     <se:Description>
      <se:Title>tertiary</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>tertiary</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#9b9b9b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.5</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>residential</se:Name>
     <se:Description>
      <se:Title>residential</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>residential</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#bdbdbd</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.5</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>service</se:Name>
     <se:Description>
      <se:Title>service</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>service</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#d9d9d9</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.5</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>other</se:Name>
     <se:Description>
      <se:Title>other</se:Title>
     </se:Description>
     <se:ElseFilter />
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#9e9e9e</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.5</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>label name</se:Name>
     <se:MaxScaleDenominator>8531</se:MaxScaleDenominator>
     <se:TextSymbolizer>
      <se:Label>
       <ogc:PropertyName>name</ogc:PropertyName>
      </se:Label>
      <se:Font>
       <se:SvgParameter name="font-family">DejaVu Sans</se:SvgParameter>
       <se:SvgParameter name="font-size">10.6667</se:SvgParameter>
      </se:Font>
      <se:LabelPlacement>
       <se:LinePlacement />
      </se:LabelPlacement>
      <se:Halo>
       <se:Radius>1.5</se:Radius>
       <se:Fill>
        <se:SvgParameter name="fill">#ffffff</se:SvgParameter>
        <se:SvgParameter name="fill-opacity">0.8</se:SvgParameter>
       </se:Fill>
      </se:Halo>
      <se:Fill>
       <se:SvgParameter name="fill">#222222</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
     </se:TextSymbolizer>
    </se:Rule>
   </se:FeatureTypeStyle>
  </sld:UserStyle>
 </sld:NamedLayer>
</sld:StyledLayerDescriptor>
