<?xml version="1.0" encoding="UTF-8"?>
<sld:StyledLayerDescriptor xmlns:ogc="http://www.opengis.net/ogc" xmlns:se="http://www.opengis.net/se" xmlns:sld="http://www.opengis.net/sld" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">
 <sld:NamedLayer>
  <se:Name>traffic_signs</se:Name>
  <sld:UserStyle>
   <se:Name>traffic_signs</se:Name>
   <se:Description>
    <se:Title>Traffic signs</se:Title>
   </se:Description>
   <se:FeatureTypeStyle>
    <se:Rule>
     <se:Name>prohibitory</se:Name>
     <se:Description>
      <se:Title>prohibitory</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>category</ogc:PropertyName>
       <ogc:Literal>prohibitory</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#d62728</se:SvgParameter>
         <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
        </se:Fill>
        <se:Stroke>
         <se:SvgParameter name="stroke">#ffffff</se:SvgParameter>
         <se:SvgParameter name="stroke-width">1</se:SvgParameter>
         <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
         <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
        </se:Stroke>
       </se:Mark>
       <se:Size>6</se:Size>
      </se:Graphic>
     </se:PointSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>warning</se:Name>
     <se:Description>
      <se:Title>warning</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>category</ogc:PropertyName>
       <ogc:Literal>warning</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#ffbf00</se:SvgParameter>
         <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
        </se:Fill>
        <se:Stroke>
         <se:SvgParameter name="stroke">#ffffff</se:SvgParameter>
         <se:SvgParameter name="stroke-width">1</se:SvgParameter>
         <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
         <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
        </se:Stroke>
       </se:Mark>
       <se:Size>6</se:Size>
      </se:Graphic>
     </se:PointSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>mandatory</se:Name>
     <se:Description>
      <se:Title>mandatory</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>category</ogc:PropertyName>
       <ogc:Literal>mandatory</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#1f77b4</se:SvgParameter>
         <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
        </se:Fill>
        <se:Stroke>
         <se:SvgParameter name="stroke">#ffffff</se:SvgParameter>
         <se:SvgParameter name="stroke-width">1</se:SvgParameter>
         <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
         <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
        </se:Stroke>
       </se:Mark>
       <se:Size>6</se:Size>
      </se:Graphic>
     </se:PointSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>information</se:Name>
     <se:Description>
      <se:Title>information</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>category</ogc:PropertyName>
       <ogc:Literal>information</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#2ca02c</se:SvgParameter>
         <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
        </se:Fill>
        <se:Stroke>
         <se:SvgParameter name="stroke">#ffffff</se:SvgParameter>
         <se:SvgParameter name="stroke-width">1</se:SvgParameter>
         <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
         <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
        </se:Stroke>
       </se:Mark>
       <se:Size>6</se:Size>
      </se:Graphic>
     </se:PointSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>auxiliary</se:Name>
     <se:Description>
      <se:Title>auxiliary</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>category</ogc:PropertyName>
       <ogc:Literal>auxiliary</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#7f7f7f</se:SvgParameter>
         <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
        </se:Fill>
        <se:Stroke>
         <se:SvgParameter name="stroke">#ffffff</se:SvgParameter>
         <se:SvgParameter name="stroke-width">1</se:SvgParameter>
         <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
         <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
        </se:Stroke>
       </se:Mark>
       <se:Size>6</se:Size>
      </se:Graphic>
     </se:PointSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>other</se:Name>
     <se:Description>
      <se:Title>other</se:Title>
     </se:Description>
     <se:ElseFilter />
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#9e9e9e</se:SvgParameter>
         <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
        </se:Fill>
        <se:Stroke>
         <se:SvgParameter name="stroke">#ffffff</se:SvgParameter>
         <se:SvgParameter name="stroke-width">1</se:SvgParameter>
         <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
         <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
        </se:Stroke>
       </se:Mark>
       <se:Size>6</se:Size>
      </se:Graphic>
     </se:PointSymbolizer>
    </se:Rule>
   </se:FeatureTypeStyle>
  </sld:UserStyle>
 </sld:NamedLayer>
</sld:StyledLayerDescriptor>
