<?xml version="1.0" encoding="UTF-8"?>
<sld:StyledLayerDescriptor xmlns:ogc="http://www.opengis.net/ogc" xmlns:se="http://www.opengis.net/se" xmlns:sld="http://www.opengis.net/sld" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">
 <sld:NamedLayer>
  <se:Name>admin_areas</se:Name>
  <sld:UserStyle>
   <se:Name>admin_areas</se:Name>
   <se:Description>
    <se:Title>Administrative areas</se:Title>
   </se:Description>
   <se:FeatureTypeStyle>
    <se:Rule>
     <se:Name>province</se:Name>
     <se:Description>
      <se:Title>province</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>level</ogc:PropertyName>
       <ogc:Literal>province</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PolygonSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#000000</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.2</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>district</se:Name>
     <se:Description>
      <se:Title>district</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>level</ogc:PropertyName>
       <ogc:Literal>district</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PolygonSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#333333</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.2</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>ward</se:Name>
     <se:Description>
      <se:Title>ward</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>level</ogc:PropertyName>
       <ogc:Literal>ward</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PolygonSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#8a8a8a</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.2</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>other</se:Name>
     <se:Description>
      <se:Title>other</se:Title>
     </se:Description>
     <se:ElseFilter />
     <se:PolygonSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#9e9e9e</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.2</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>label name</se:Name>
     <se:MaxScaleDenominator>136495</se:MaxScaleDenominator>
     <se:TextSymbolizer>
      <se:Label>
       <ogc:PropertyName>name</ogc:PropertyName>
      </se:Label>
      <se:Font>
       <se:SvgParameter name="font-family">DejaVu Sans</se:SvgParameter>
       <se:SvgParameter name="font-size">10.6667</se:SvgParameter>
      </se:Font>
      <se:LabelPlacement>
       <se:PointPlacement />
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
